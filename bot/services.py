"""The app's long-lived collaborators, built once at start-up and shared by routers and actions."""

from dataclasses import dataclass, field
from functools import cached_property

from bot.engine.client import RasaClient
from bot.i18n.render import Renderer
from bot.settings import Settings
from bot.store.db import Store
from knowledge.catalogue import Catalogue, load_catalogue
from knowledge.embeddings import Embedder, embedder_for
from knowledge.places import Gazetteer, gazetteer
from knowledge.search import OfferSearch, search_for
from nlu.crisis.screen import CrisisScreen, screen_for
from nlu.gibberish import GibberishDetector, default_detector
from nlu.language import LanguageIdentifier, default_identifier


@dataclass
class Services:
    settings: Settings
    store: Store
    engine: RasaClient
    renderer: Renderer
    catalogue: Catalogue  # the settings' catalogue folder; a re-index replaces it (knowledge.admin.jobs)
    language_identifier: LanguageIdentifier = field(default_factory=default_identifier)
    gibberish: GibberishDetector = field(default_factory=default_detector)
    gazetteer: Gazetteer = field(default_factory=gazetteer)

    @cached_property
    def search(self) -> OfferSearch:
        return search_for(self.settings)

    @cached_property
    def crisis_screen(self) -> CrisisScreen:
        return screen_for(self.settings)

    @property
    def embedder(self) -> Embedder:
        """The e5 model alone (the review queue groups messages with it), shared with the search."""
        return embedder_for(self.settings)


def build_services(settings: Settings) -> Services:
    store = Store(settings.sqlalchemy_url)
    store.create_schema()
    return Services(
        settings=settings,
        store=store,
        engine=RasaClient(settings.rasa_url, settings.rasa_token, settings.rasa_timeout_s),
        renderer=Renderer(defaults={"days": settings.retention_days}),
        catalogue=load_catalogue(settings.catalogue_dir),
    )

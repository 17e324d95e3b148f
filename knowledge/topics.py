"""The fixed vocabularies of the catalogue, in one place: topics, target groups, regions, text languages.

Everything that checks or labels an offer (schema, HSDS export, CSV import, search, evaluation) takes its
lists from here. Topics are the ones fixed in DESIGN.md; do not rename them (tests and evaluation files
use the slugs). Labels are short English and Danish names for people and for HSDS taxonomy terms.
"""

# Languages an offer's texts (title, summary, how_to_join) may be written in: the five citizen
# languages plus English as a courtesy. Same codes and order as bot.SUPPORTED_LANGUAGES.
TEXT_LANGUAGES: tuple[str, ...] = ("da", "ar", "so", "tr", "fa", "en")

# topic slug -> (English label, Danish label)
TOPIC_LABELS: dict[str, tuple[str, str]] = {
    "loneliness": ("Loneliness and community", "Ensomhed og fællesskab"),
    "mental_health": ("Mental health", "Mental sundhed"),
    "smoking": ("Quitting smoking", "Rygestop"),
    "alcohol_drugs": ("Alcohol and drugs", "Alkohol og stoffer"),
    "pregnancy_family": ("Pregnancy and family", "Graviditet og familie"),
    "children_youth": ("Children and young people", "Børn og unge"),
    "chronic_disease": ("Living with chronic disease", "Kronisk sygdom"),
    "cancer": ("Cancer", "Kræft"),
    "physical_activity": ("Physical activity", "Motion og bevægelse"),
    "healthy_eating": ("Healthy eating", "Sund mad"),
    "health_navigation": ("Finding your way in the health system", "Hjælp til at finde vej i sundhedsvæsenet"),
    "economy": ("Money, debt and medicine costs", "Økonomi, gæld og medicinudgifter"),
    "housing": ("Housing and homelessness", "Bolig og hjemløshed"),
    "grief": ("Grief and loss", "Sorg og tab"),
    "elderly": ("Older people", "Ældre"),
    "men_health": ("Men's health", "Mænds sundhed"),
    "disability": ("Disability", "Handicap"),
    "violence": ("Violence and abuse", "Vold og overgreb"),
    "caregivers": ("Relatives and carers", "Pårørende"),
    "social_counselling": ("Social counselling", "Social rådgivning"),
}
TOPICS: tuple[str, ...] = tuple(TOPIC_LABELS)

# target-group slug -> (English label, Danish label)
TARGET_GROUP_LABELS: dict[str, tuple[str, str]] = {
    "adults": ("Adults", "Voksne"),
    "youth": ("Young people", "Unge"),
    "children": ("Children", "Børn"),
    "elderly": ("Older people", "Ældre"),
    "families": ("Families", "Familier"),
    "new_parents": ("New parents", "Nybagte forældre"),
    "pregnant": ("Pregnant women", "Gravide"),
    "men": ("Men", "Mænd"),
    "women": ("Women", "Kvinder"),
    "caregivers": ("Relatives and carers", "Pårørende"),
    "migrants": ("Migrants and refugees", "Indvandrere og flygtninge"),
    "chronic_illness": ("People with chronic illness", "Mennesker med kronisk sygdom"),
    "mental_illness": ("People with mental illness", "Mennesker med psykisk sygdom"),
    "cancer": ("People with cancer", "Mennesker med kræft"),
    "disability": ("People with disabilities", "Mennesker med handicap"),
    "homeless": ("Homeless people", "Hjemløse"),
    "unemployed": ("People out of work", "Ledige"),
    "bereaved": ("Bereaved people", "Efterladte"),
    "students": ("Students", "Studerende"),
    "low_income": ("People on a low income", "Mennesker med lav indkomst"),
    "lgbt": ("LGBT+ people", "LGBT+ personer"),
    "everyone": ("Everyone", "Alle"),
}
TARGET_GROUPS: tuple[str, ...] = tuple(TARGET_GROUP_LABELS)

# The five Danish regions, spelled as in the places gazetteer (knowledge/data/places/municipalities.csv).
REGIONS: tuple[str, ...] = ("Hovedstaden", "Sjælland", "Syddanmark", "Midtjylland", "Nordjylland")

SCOPES: tuple[str, ...] = ("local", "regional", "national")
COSTS: tuple[str, ...] = ("free", "paid", "unknown")
REFERRALS: tuple[str, ...] = ("self", "gp", "municipality", "hospital", "unknown")

"""What we know: the catalogue of offers, Danish places, and search over them."""

"""Huiju integrates department service catalogs into a validated, versioned portal feed."""

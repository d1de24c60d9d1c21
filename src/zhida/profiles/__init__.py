"""Enterprise profiles (企业画像): field registry, ingestion, profile store, synthetic city."""

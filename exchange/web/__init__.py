"""HTTP: the JSON API, metrics and health (the staff web app joins it in a later issue)."""

"""Domain services shared by the screens, the API and CSV import: rules,
employees, contacts and their searches, the event log, effective settings."""

"""Where the local AWS is as strict as AWS: names, validation, permissions, endpoint health, rollback."""

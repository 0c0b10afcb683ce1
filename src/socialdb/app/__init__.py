"""What the platform's services import: light, and only the ground (errors, db, settings) below it."""

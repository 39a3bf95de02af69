"""People: administration by admins, NGO teams, invitations and password resets."""

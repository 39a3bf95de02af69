"""People and organisations: users, NGOs and funders, memberships with roles, consented access
grants, and the audit log."""

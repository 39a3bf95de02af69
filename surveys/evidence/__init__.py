"""Evidence files attached to questions: checked, stored apart, served only as downloads."""

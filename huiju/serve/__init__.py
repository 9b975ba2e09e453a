"""The read side: the portal's read API and the integration-status dashboard, over published files."""

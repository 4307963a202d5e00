"""Reusable ComponentResources of NexusAPI Platform. Nothing here reads stack config."""

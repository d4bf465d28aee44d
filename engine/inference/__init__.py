"""What runs on a loaded model: conversations as prompts, streaming generation, prefilled contexts."""

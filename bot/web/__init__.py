"""The resident web chat (`/chat`), its JSON/SSE API and the app's background loops."""

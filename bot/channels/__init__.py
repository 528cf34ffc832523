"""Residents' doors. Channels are thin: an update becomes a call, a reply becomes a message."""

"""Hotline transcripts → proposed cases (issue #5).

reader    transcript files in the forms they come in → `Transcript` objects
extract   the caller's facts: summary, place, phone, name, time, case number
service   propose → operator corrections → confirm (opens through the case service)
cli       `bot intake`; the web routes live in bot/web/intake_routes.py
"""

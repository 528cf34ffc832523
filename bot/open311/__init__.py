"""Open311 GeoReport v2: city apps, 12345 platforms and civic-tech clients file and follow cases.

One more door onto the case service (the only writer): `door.Open311Door` answers the calls,
`keys` issues the clients' API keys, `states` maps the lifecycle to Open311's statuses,
`render` writes JSON and XML, `submission` reads a POST body.
"""

"""One router per resource: stores, kpis, health, live (websocket), and the wall page."""

"""ShopPulse's Grafana dashboards as code: builders (:mod:`dashboards.grafana`) and the
dashboards generated from the KPI registry into ``dashboards/json`` (:mod:`dashboards.generate`,
``make dashboards``)."""

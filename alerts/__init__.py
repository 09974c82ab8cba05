"""Alert rules (:mod:`alerts.rules`), their evaluation (:mod:`alerts.evaluation`), the alert
lifecycle (:mod:`alerts.lifecycle`) and the ``shoppulse rules check`` subcommand
(:mod:`alerts.rules_check`)."""

"""Alert rules (:mod:`alerts.rules`), the alert lifecycle (:mod:`alerts.lifecycle`) and the
``shoppulse rules check`` subcommand (:mod:`alerts.rules_check`)."""

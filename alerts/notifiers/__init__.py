"""Alert notifiers: deliver ``shoppulse.alerts`` state changes to people and systems.

* :mod:`alerts.notifiers.message`: pure rendering of an alert as text / a Slack payload.
* :mod:`alerts.notifiers.base`: the :class:`Notifier` protocol, :class:`DeliveryError`,
  :class:`Backoff` and :func:`deliver_with_retries`.
* :mod:`alerts.notifiers.slack`, :mod:`alerts.notifiers.webhook`,
  :mod:`alerts.notifiers.email`, :mod:`alerts.notifiers.alertmanager`: the channels.
"""

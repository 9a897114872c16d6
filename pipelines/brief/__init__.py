"""The credit team's side of the warehouse: the credit-event ledger (ledger.py), the brief
(report.py, charts.py), the alerts (delivery.py), the labels they share with the notebook
(labels.py) and the step `symetrisk run` takes around publishing (nightly.py). It reads only
the marts and its own ledger tables."""

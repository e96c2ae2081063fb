"""Batch triage on Spark: ``triage predict --engine spark`` and ``triage evaluate --engine spark``.

The exports are read by Spark (files or folders of CSV, JSON Lines or Parquet, local or on a cluster's file
system), each batch is made canonical and scored by the same library code as the local commands, in
``mapInPandas`` on the executors, with the bundle verified on the driver and shipped as files. Nothing but
aggregates comes back to the driver. PySpark is the ``spark`` extra (``pip install 'triage[spark]'``).

>>> from triage.batch.spark import predict, spark_session  # doctest: +SKIP
>>> predict(spark_session("local[2]"), "models/default", ["tickets/"], "predictions/")  # doctest: +SKIP
"""

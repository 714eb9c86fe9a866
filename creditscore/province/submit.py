"""``spark-submit`` entry point: grade everyone in a warehouse's typed record tables on a cluster.

    spark-submit --master yarn --archives env.tar.gz#env ... \\
        "$(python -c 'import creditscore.province.submit as m; print(m.__file__)')" \\
        --feeds hdfs:///warehouse/credit --segment household --as-of 2024-06-30 \\
        --out hdfs:///grades/household/2024-06-30 --partitions 2000 --key-file pseudonym.key

The model is the served one of a store (``--store-url``) or a bundle folder shipped with the job (``--bundle``);
the feeds are one Parquet folder per record kind (``creditscore`` writes them with
:func:`creditscore.province.spark.export_records`, or the warehouse holds them with the contracts' columns).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--feeds", required=True, help="folder (or hdfs:// / s3a:// URL) with one folder per kind")
    parser.add_argument("--segment", required=True, choices=["household", "sme"])
    parser.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    parser.add_argument("--out", required=True)
    parser.add_argument("--partitions", type=int, default=200)
    parser.add_argument("--key-file", required=True, type=Path, help="the platform's pseudonym key (32 bytes)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--store-url", help="the store whose served model grades (its model generation)")
    source.add_argument("--bundle", type=Path, help="a model bundle folder shipped with the job")
    args = parser.parse_args(argv)

    from creditscore.province.spark import grade_all_spark, session
    from creditscore.records.subjects import Segment

    segment = Segment.of(args.segment)
    if args.store_url:
        from creditscore.service.models import current_scorers
        from creditscore.store import Store

        scorer = current_scorers(Store(args.store_url))[segment]
    else:
        from creditscore.decisions.scorer import Scorer
        from creditscore.features import load_catalogue
        from creditscore.modeling.bundle import ModelBundle
        from creditscore.policy import load_policy

        catalogue = load_catalogue(segment)
        scorer = Scorer(segment, ModelBundle.load(args.bundle, catalogue=catalogue), catalogue, load_policy())
    spark = session(None, f"creditscore grade-all {args.segment} {args.as_of}")
    try:
        rows = grade_all_spark(spark, scorer, args.feeds, args.as_of, args.out, partitions=args.partitions,
                               key=args.key_file.read_bytes())
        print(f"{rows:,} graded as of {args.as_of} into {args.out}")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()

"""The sandbox ERPs for benchmarks, in their own process: only the providers asked for are
generated. ``--records`` is per entity, so 1,000,000 makes four to five million rows per
provider: about 3.5 GB (Dynamics), 4.5 GB (Oracle) or 5 GB (SAP) and 1.5-3.5 minutes to generate
on a 2-core machine; one provider at that size fits, all three would not leave room
for the rest. Pages cost their own size at any size (the sandbox keeps its views sorted).

``python -m bench.sandbox_server --records N --providers sap,oracle --info-file F
[--faults JSON]``: serves on a free port of 127.0.0.1 and writes the connection info to F.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from plantsync.sandbox.faults import FaultConfig
from plantsync.sandbox.server import Sandbox, SandboxRunner


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--providers", default="sap,dynamics,oracle")
    parser.add_argument("--info-file", type=Path, required=True)
    parser.add_argument("--faults", default=None, help="FaultConfig as JSON")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    faults = FaultConfig.model_validate_json(args.faults) if args.faults else None
    app = Sandbox(
        records=args.records,
        seed=args.seed,
        faults=faults,
        providers=args.providers.split(","),
    )
    runner = SandboxRunner(app, host="127.0.0.1", port=0)
    tmp = args.info_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(app.info()))
    tmp.rename(args.info_file)  # appears whole: the harness waits for it
    runner.serve()


if __name__ == "__main__":
    main()

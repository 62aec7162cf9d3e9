from deid.cli import main

raise SystemExit(main())

from epu_mapper.cli import main

raise SystemExit(main())

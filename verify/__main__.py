import sys

from verify._runner import main

sys.exit(main())

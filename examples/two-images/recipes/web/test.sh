#!/bin/bash
# Tests the web image: nginx serves the baked page.
set -euo pipefail
systemctl start nginx
curl -fsS http://localhost/ | grep -q "<p>web</p>"
echo "web image serves its page"

#!/bin/bash
# Bakes the web image: nginx serving one page.
set -euo pipefail
dnf install -y nginx
echo "<p>web</p>" >/usr/share/nginx/html/index.html
systemctl enable nginx

#!/bin/bash
# The demo recipe: nginx serving a page that files/ put on the instance.
# Runs as root on the source instance at first boot, after files/ is copied onto /.
set -euo pipefail

dnf install -y nginx
# After the package: its own index.html would replace one copied earlier.
install -m 0644 /srv/ami-from-instance/index.html /usr/share/nginx/html/index.html
systemctl enable --now nginx

# Prove it before the image is taken: nginx must serve the page.
curl -fsS --retry 10 --retry-connrefused --retry-delay 2 http://localhost/ | grep -q 'baked by ami-from-instance'
echo "nginx serves the baked page"

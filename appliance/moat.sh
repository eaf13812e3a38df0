#!/bin/sh
# The `moat` command on the appliance (installed as /usr/bin/moat): the compiled CLI on Debian's Node.js.
exec /usr/bin/node /opt/moat/dist/src/cli.js "$@"

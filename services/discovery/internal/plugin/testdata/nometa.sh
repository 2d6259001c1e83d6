#!/bin/sh
# A dynamic-inventory script without _meta: each host's vars come from --host.
case "$1" in
--list)
	echo '{"app": {"hosts": ["app-01", "app-02"], "vars": {"port": "9000"}}}'
	;;
--host)
	case "$2" in
	app-01) echo '{"ansible_host": "192.0.2.1"}' ;;
	app-02) echo '{"ansible_host": "192.0.2.2", "port": "9001"}' ;;
	*) echo "unknown host $2" >&2; exit 1 ;;
	esac
	;;
*) exit 2 ;;
esac

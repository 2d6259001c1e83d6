#!/bin/sh
# An Ansible dynamic-inventory script with nested children and _meta.
case "$1" in
--list)
	cat <<'JSON'
{
  "all": {"vars": {"region": "eu-west", "tier": "all"}},
  "prod": {"children": ["web", "db"], "vars": {"tier": "prod"}},
  "web": {"children": ["east"], "hosts": ["web-02"], "vars": {"tier": "web", "port": 8080}},
  "east": {"hosts": ["web-01"], "vars": {"tier": "east"}},
  "db": ["db-01"],
  "_meta": {"hostvars": {
    "web-01": {"ansible_host": "10.0.0.11", "tier": "host-web-01"},
    "web-02": {"ansible_host": "10.0.0.12", "tags": ["a", "b"]},
    "db-01": {"ansible_host": "10.0.0.21", "replica": false}
  }}
}
JSON
	;;
--host)
	echo "nested.sh: --host must not be called when _meta is present" >&2
	exit 3
	;;
*)
	echo "usage: $0 --list | --host <name>" >&2
	exit 2
	;;
esac

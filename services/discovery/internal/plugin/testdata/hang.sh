#!/bin/sh
# Never answers; the fetch's timeout must kill it and its children.
sleep 300

#!/bin/sh
# Prints 10 MB, over any sensible size limit.
head -c 10485760 /dev/zero | tr '\0' 'x'

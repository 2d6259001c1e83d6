#!/bin/sh
# Prints something that is not JSON.
echo 'Traceback (most recent call last): {not json'

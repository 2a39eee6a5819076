#!/bin/bash
# Runs dbus-daemon with its messages in $FLOWCRED_HARNESS_TMP/dbus.log
# instead of on the test's stderr. with-services.sh passes this to
# dbus-run-session as --dbus-daemon; exec keeps the process id.
exec dbus-daemon "$@" 2>>"${FLOWCRED_HARNESS_TMP:?}/dbus.log"

# Global script for Dovecot's sieve_before: every message passes through the agent, which
# replies for accounts on vacation and does nothing (quickly) for everyone else. It never
# files or discards anything; the user's own script and the implicit keep run after it.
#
# `execute` is used as a test, not as a command: when the agent fails (exit 75, a crash, a
# missing program) the test is merely false and delivery goes on, so no message is lost and
# the user's filters still run. The agent gets the message on stdin (`:pipe`) and the envelope
# from SENDER / RECIPIENT / ORIG_RECIPIENT, which Pigeonhole sets.
#
# Compile it as root after every change (Dovecot runs as the mail user and cannot write here):
#   sievec /etc/dovecot/sieve-before.d/autoresponder.sieve
require ["vnd.dovecot.execute"];

if execute :pipe "autoresponder" {
}

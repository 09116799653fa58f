"""A real SMTP server for the mail tests (aiosmtpd): every accepted message is written to a
Maildir the tests read; recipients whose address starts with `nobody@` are refused permanently
(550), as a real server refuses a mailbox that does not exist.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c recording_smtpd.Recorder MAILDIR
"""

import mailbox


class Recorder:
    def __init__(self, maildir):
        self.maildir = mailbox.Maildir(maildir, create=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("Recorder takes one argument: the Maildir to write to")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.maildir.add(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

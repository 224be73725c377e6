"""Whole messages of other systems (reports and bounces) that several rule tests use."""

POSTFIX_DSN = """\
Return-Path: <>
Received: by mx.example.com (Postfix)
\tid 4Fa1b2C3d4; Sat, 28 Nov 2026 10:16:02 +0000 (UTC)
Date: Sat, 28 Nov 2026 10:16:02 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: ana@example.com
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Fa1b2C3d4.1795860962/mx.example.com"
Content-Transfer-Encoding: 8bit
Message-Id: <20261128101602.4Fa1b2C3d4@mx.example.com>

This is a MIME-encapsulated message.

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

                   The mail system

<carl@example.net>: host mx.example.net[192.0.2.25] said: 550 5.1.1
    <carl@example.net>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4Fa1b2C3d4
X-Postfix-Sender: rfc822; ana@example.com
Arrival-Date: Sat, 28 Nov 2026 10:16:01 +0000 (UTC)

Final-Recipient: rfc822; carl@example.net
Original-Recipient: rfc822;carl@example.net
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.example.net
Diagnostic-Code: smtp; 550 5.1.1 <carl@example.net>: Recipient address rejected:
    User unknown in virtual mailbox table

--4Fa1b2C3d4.1795860962/mx.example.com
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Ana Silva <ana@example.com>
To: carl@example.net
Subject: Minutes
Message-ID: <min-1@example.com>

--4Fa1b2C3d4.1795860962/mx.example.com--
"""


MDN = """\
From: Bob Example <bob@example.org>
To: Ana Silva <ana@example.com>
Subject: Read: Minutes
Date: Sat, 28 Nov 2026 10:20:00 +0000
Message-ID: <mdn-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
 boundary="mdn-b"

--mdn-b
Content-Type: text/plain; charset=utf-8

The message sent on 2026-11-28 to bob@example.org with subject "Minutes" has been displayed.

--mdn-b
Content-Type: message/disposition-notification

Reporting-UA: bob-laptop; Thunderbird
Final-Recipient: rfc822;bob@example.org
Original-Message-ID: <min-1@example.com>
Disposition: manual-action/MDN-sent-manually; displayed

--mdn-b--
"""


ARF = """\
From: Abuse Desk <abuse-reports@isp.example>
To: Ana Silva <ana@example.com>
Subject: FW: Complaint about message from 203.0.113.7
Date: Sat, 28 Nov 2026 11:00:00 +0000
Message-ID: <arf-1@isp.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="arf-b"

--arf-b
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP 203.0.113.7.

--arf-b
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <ana@example.com>
Arrival-Date: Sat, 28 Nov 2026 10:50:00 +0000
Source-IP: 203.0.113.7
Reported-Domain: example.com

--arf-b
Content-Type: message/rfc822

From: Ana Silva <ana@example.com>
To: someone@isp.example
Subject: Newsletter

Hello
--arf-b--
"""


EXIM_BOUNCE = """\
Return-path: <>
Received: from Debian-exim by mx.example.net with local (Exim 4.96)
\tid 1tAbCd-000123-4X for ana@example.com; Sat, 28 Nov 2026 10:16:05 +0000
X-Failed-Recipients: carl@example.net
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.example.net>
To: ana@example.com
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tAbCd-000123-4X@mx.example.net>
Date: Sat, 28 Nov 2026 10:16:05 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  carl@example.net
    host mx.example.net [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<carl@example.net>:
    550 5.1.1 User unknown

------ This is a copy of the message, including all the headers. ------

From: Ana Silva <ana@example.com>
To: carl@example.net
Subject: Minutes
"""


# A qmail bounce (QSBMF, cr.yp.to/proto/qsbmf.txt) from a host whose return path and From:
# are not robot names, with no report type and no X-Failed-Recipients: only the bounce
# scanner can tell.
QMAIL_BOUNCE = """\
From: Mail System <mail@mx.oldhost.example>
To: ana@example.com
Subject: failure notice
Date: Sat, 28 Nov 2026 10:17:00 +0000
Message-ID: <qmail-1@mx.oldhost.example>

Hi. This is the qmail-send program at mx.oldhost.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<dora@oldhost.example>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

Return-Path: <ana@example.com>
From: Ana Silva <ana@example.com>
To: dora@oldhost.example
Subject: Minutes
"""


# An old Exim/sendmail style text bounce without X-Failed-Recipients, sent from a return path
# that is not a robot name.
OLD_TEXT_BOUNCE = """\
From: Postoffice <postoffice@mail.example.net>
To: Ana Silva <ana@example.com>
Subject: Warning: message could not be delivered
Date: Sat, 28 Nov 2026 10:18:00 +0000
Message-ID: <old-1@mail.example.net>

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. The following address(es) failed:

  <erik@example.net>
    SMTP error from remote mailer after RCPT TO:<erik@example.net>:
    host mx.example.net [192.0.2.30]: 550 No such user

------ This is a copy of the message, including all the headers. ------

From: Ana Silva <ana@example.com>
To: erik@example.net
Subject: Minutes
"""


EXCHANGE_OOF = """\
From: Carla Mendes <carla@contoso.example>
To: Ana Silva <ana@example.com>
Subject: Automatic reply: Lunch next week?
Thread-Topic: Lunch next week?
Date: Sat, 28 Nov 2026 10:15:30 +0000
Message-ID: <AM0PR01MB1234.eurprd01.prod.outlook.example>
In-Reply-To: <m1@example.org>
Auto-Submitted: auto-generated
X-MS-Exchange-Inbox-Rules-Loop: carla@contoso.example
X-Auto-Response-Suppress: All
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until Monday.
"""


GITHUB_NOTIFICATION = """\
Date: Sat, 28 Nov 2026 09:00:00 -0800
From: Dora <notifications@github.example>
Reply-To: example/project <reply+ABCDEF@reply.github.example>
To: example/project <project@noreply.github.example>
Cc: Ana Silva <ana@example.com>, Mention <mention@noreply.github.example>
Message-ID: <example/project/issues/42/123@github.example>
Subject: Re: [example/project] Crash on start (Issue #42)
Mime-Version: 1.0
Content-Type: text/plain; charset=UTF-8
Precedence: list
X-GitHub-Reason: mention
List-ID: example/project <project.example.github.example>
List-Archive: https://github.example/example/project
List-Unsubscribe: <mailto:unsub+ABC@reply.github.example>

@ana can you look?
"""


MAILMAN3_POST = """\
From: Bob via Devel <devel@lists.example.org>
Reply-To: Bob Example <bob@example.org>
To: devel@lists.example.org
Cc: ana@example.com
Subject: [Devel] Release plan
Message-ID: <rp-1@example.org>
Date: Sat, 28 Nov 2026 10:00:00 +0000
Content-Type: text/plain; charset=utf-8
MIME-Version: 1.0
Message-ID-Hash: ABCDEFGHIJKLMNOPQRSTUVWXYZ234567
X-Message-ID-Hash: ABCDEFGHIJKLMNOPQRSTUVWXYZ234567
X-Mailman-Version: 3.3.9
Precedence: list
List-Id: Development <devel.lists.example.org>
List-Post: <mailto:devel@lists.example.org>
List-Help: <mailto:devel-request@lists.example.org?subject=help>

Plan attached.
"""


CALENDAR_INVITE = """\
From: Bob Example <bob@example.org>
To: Ana Silva <ana@example.com>
Subject: Invitation: Budget review @ Tue 1 Dec 2026 10:00 - 11:00 (WET)
Date: Sat, 28 Nov 2026 10:15:00 +0000
Message-ID: <cal-1@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cal"

--cal
Content-Type: text/plain; charset=utf-8

Budget review, Tuesday.
--cal
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
UID:cal-1@example.org
SUMMARY:Budget review
DTSTART:20261201T100000Z
DTEND:20261201T110000Z
ORGANIZER:mailto:bob@example.org
ATTENDEE:mailto:ana@example.com
END:VEVENT
END:VCALENDAR
--cal--
"""

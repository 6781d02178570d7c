from twisted.application.service import ServiceMaker

MailGateway = ServiceMaker(
    "mailgateway",
    "gateway.tap",
    "SMTP/POP3/IMAP mail gateway with an X.400 bridge",
    "mailgateway",
)

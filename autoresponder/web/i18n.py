"""The pages' words in English and Portuguese, and which of the two a visitor gets: the
`lang` cookie set by the switch on every page, else the browser's Accept-Language (quality
values honoured), else English."""

from __future__ import annotations

LANGUAGES = ("en", "pt")
COOKIE = "ar_lang"

MESSAGES = {
    "en": {
        "title": "Automatic reply",
        "skip": "Skip to the main content",
        "lang_switch": "Language",
        "sign_in": "Sign in",
        "sign_in_intro": "Sign in with your mail login (usually your address) and mail password.",
        "address": "Mail login",
        "password": "Password",
        "admin_token": "Admin token",
        "admin_sign_in": "Administrators: sign in with an admin token",
        "sign_in_token": "Sign in with the token",
        "bad_login": "The address or the password is wrong.",
        "bad_token": "That token is not a valid admin token.",
        "login_throttled": "Too many attempts: wait a minute and try again.",
        "login_unavailable": "The mail server could not check the password: try again "
                             "later.",
        "login_insecure": "A password may only be sent over HTTPS.",
        "login_no_account": "This login has no automatic reply account here.",
        "away_changed": "Not saved: these settings were changed elsewhere since you opened "
                        "the page. Reload to see them.",
        "logout": "Sign out",
        "signed_in_as": "Signed in as",
        "administrator": "administrator",
        "nav_away": "Out of office",
        "nav_templates": "Templates",
        "away_title": "Out of office",
        "away_intro": "While this is on, people who write to you get one automatic reply "
                      "per interval. Lists, bounces and robots never get one.",
        "enabled": "Send automatic replies",
        "state_on": "On",
        "state_off": "Off",
        "status": "Status",
        "in_force": "replying now",
        "not_in_force": "not replying now",
        "start": "Start",
        "end": "End",
        "date": "Date",
        "time": "Time",
        "start_hint": "Empty: from now on (but with absences or windows below, only they "
                      "answer then). Without a time: from the start of that day.",
        "end_hint": "Empty: until switched off. Without a time: through the end of that day.",
        "zone_is": "Times are in your time zone:",
        "subject": "Subject",
        "subject_hint": "Empty: the template's subject, else “Auto: ” and the original "
                        "subject.",
        "message": "Your message",
        "message_hint": "Given to the reply template (for example who to call while you "
                        "are away).",
        "language": "Reply language",
        "language_auto": "From the incoming message",
        "lang_en": "English",
        "lang_pt": "Portuguese",
        "interval": "One reply per sender every",
        "interval_hint": "For example 24h, 7d or 1h30m. Empty: the server's default ({default}).",
        "save": "Save",
        "saved": "Saved.",
        "not_saved": "Not saved: see the messages below.",
        "preview": "Preview of the reply",
        "preview_intro": "The exact message that would go out, rendered as delivery renders "
                         "it. It follows what you type; nothing is saved until you press "
                         "Save.",
        "sample_sender": "Reply to (sample sender)",
        "headers": "Header fields",
        "text_part": "Text part",
        "html_part": "HTML part",
        "html_source": "HTML source",
        "no_html": "This reply has no HTML part.",
        "preview_failed": "The reply cannot be built:",
        "updating": "Updating…",
        "history": "Recent replies",
        "history_intro": "Who got your automatic reply lately. “Reply again” lets that "
                         "sender get it on their next message.",
        "history_empty": "No replies sent yet.",
        "when": "When",
        "sender": "Sender",
        "result": "Result",
        "status_sent": "sent",
        "status_rejected": "refused by the server",
        "forget": "Reply again",
        "forget_label": "Reply again to {sender}",
        "forgotten": "{sender} will get the reply again.",
        "note_plain": "{local} {abbrev} ({offset})",
        "note_gap": "{local} {abbrev} ({offset}): the time you typed does not exist that "
                    "day (the clocks go forward), so it starts when they do.",
        "note_twice": "{local} {abbrev} ({offset}): this time happens twice that day (the "
                      "clocks go back); the first one counts.",
        "note_through": "through the end of that day: until {local} {abbrev} ({offset})",
        "time_without_date": "a time needs a date",
        "bad_date": "not a date (YYYY-MM-DD)",
        "bad_time": "not a time (HH:MM)",
        "bad_interval": "not an interval (for example 24h, 7d, 1h30m)",
        "end_before_start": "the end must be after the start",
        "bad_sender": "not a mail address",
        "too_long": "too long",
        "error": "Error",
        "no_account_admin": "An admin token speaks for no mailbox: use the templates page.",
        "templates_title": "Reply templates",
        "templates_intro": "Each template has a text file and an optional HTML file per "
                           "language. A template that fails the check cannot be saved.",
        "template": "Template",
        "languages": "Languages",
        "file": "File",
        "check": "Check",
        "check_ok": "passes",
        "check_fail": "fails",
        "source": "where from",
        "bundled": "bundled (saving makes your own copy)",
        "own": "your template directory",
        "edit": "Edit",
        "edit_title": "Edit {file}",
        "template_source": "Template source",
        "check_result": "Check",
        "check_passes": "The template passes the check.",
        "check_line": "Line {line}: {message}",
        "goto_line": "Go to line {line}",
        "preview_after_check": "The preview comes back once the template passes the check.",
        "preview_account": "Preview for the account",
        "preview_account_none": "No accounts yet: the preview uses a sample account.",
        "save_template": "Save",
        "undo": "Undo the last save",
        "undo_done": "The previous version of {file} is back.",
        "template_saved": "{file} saved (the previous version is kept for undo).",
        "check_failed": "Not saved: the template fails the check.",
        "changed_meanwhile": "Not saved: someone changed this template since you opened it. "
                             "Reload to see their version.",
        "no_template_dir": "Templates cannot be saved: set `templates` in the config to a "
                           "directory this service can write.",
        "template_dir_missing": "The template directory does not exist:",
        "nothing_to_undo": "There is no earlier version to put back.",
        "no_such_template": "No such template:",
        "bad_file": "Not a template file name:",
        "back": "Back to the list",
        "forbidden": "You may not see this page.",
        "not_found": "Not found.",
        "csrf_failed": "The form expired or did not come from this site. Reload the page "
                       "and try again.",
        "need_admin": "Only administrators can edit templates.",
        "signed_out": "You are signed out.",
        "timezone": "Time zone",
        "timezone_hint": "An IANA name such as Europe/Lisbon or America/Sao_Paulo. Empty: the "
                         "server's ({default}). Every date and time on this page is in it; "
                         "changing it keeps them as the clock reads them.",
        "bad_zone": "not a time zone this server knows (an IANA name such as Europe/Lisbon)",
        "audience_title": "Who gets which reply",
        "internal_domains": "Colleagues' domains",
        "internal_domains_hint": "Senders at your own domains always count as colleagues; add "
                                 "more here, separated by commas (.example.com: its "
                                 "subdomains).",
        "bad_domain": "not a domain: {detail} (write example.com, or .example.com for its "
                      "subdomains)",
        "too_many_domains": "at most 100 domains",
        "outsiders": "Senders from outside",
        "outsiders_reply": "get a reply",
        "outsiders_none": "get no reply (answer colleagues only)",
        "outsider_subject": "Subject for outsiders",
        "outsider_message": "Message for outsiders",
        "outsider_hint": "Empty: outsiders get the same reply as colleagues.",
        "outsider_reply": "A different reply for outsiders (optional)",
        "template_same": "Same as the main reply",
        "reply_from": "Reply from",
        "reply_from_account": "This account's address ({address})",
        "reply_from_addressed": "The address the message was sent to",
        "reply_from_hint": "Never an address that is not this account's.",
        "bad_reply_from": "not one of this account's addresses",
        "group_mail": "Also answer mail sent to a group or list address",
        "group_mail_hint": "Mail that does not name any of your addresses (a group alias, a "
                           "Bcc). Left as it is, the server's default applies ({default}).",
        "yes": "yes",
        "no": "no",
        "absences_title": "More absences",
        "item_content_hint": "Each with its own dates and, optionally, its own subject and "
                             "message; empty fields take the main reply's.",
        "absence_n": "Absence {number}",
        "absence_new": "Add an absence",
        "absence_unsaved": "New absence (added when you save)",
        "remove_absence": "Remove absence {number} when saving",
        "windows_title": "Weekly windows",
        "window_hint": "Times you are away every week, e.g. “Fri 14:00 - Mon 08:00”, "
                       "“Mon-Fri 12:00-13:00”, “Sat-Sun until 2027-06-30” (Portuguese works "
                       "too: “sex 14h - seg 8h”).",
        "window_n": "Window {number}",
        "window_new": "Add a window",
        "window_unsaved": "New window (added when you save)",
        "window_spec": "When",
        "remove_window": "Remove window {number} when saving",
        "bad_window": "not a weekly window: {detail}",
        "window_needs_text": "say when (e.g. Fri 14:00 - Mon 08:00)",
        "absence_needs_start": "an absence needs a start date",
        "unknown_item": "not one of your absences or windows (reload the page)",
        "too_many_items": "at most 50 in this list",
        "bad_template": "no such template",
        "api": "{detail}",
        "next_change": "next change {when}",
        "sample_sender_hint": "A sender at one of your domains counts as a colleague; any "
                              "other, as an outsider.",
        "sample_to": "Sent to",
        "sample_when": "Preview the reply",
        "sample_now": "as it goes out now",
        "which_main": "the main reply",
        "situation_idle": "At {when} no absence or window is in force, so no reply goes out "
                          "then. Shown is the main reply: {who} and {gets}.",
        "which_absence": "absence {number}",
        "which_window": "the window {spec}",
        "sample_internal": "{sender} is a colleague ({why})",
        "sample_external": "{sender} is an outsider",
        "gets_no_reply": "gets no reply",
        "gets_outsider_reply": "gets the reply for outsiders",
        "gets_reply": "gets this reply, from {address}",
        "situation": "At {when}, {which} answers: {who} and {gets}.",
    },
    "pt": {
        "title": "Resposta automática",
        "skip": "Saltar para o conteúdo",
        "lang_switch": "Idioma",
        "sign_in": "Entrar",
        "sign_in_intro": "Entre com o seu utilizador de correio (em geral o endereço) e a "
                         "palavra-passe do correio.",
        "address": "Utilizador de correio",
        "password": "Palavra-passe",
        "admin_token": "Token de administração",
        "admin_sign_in": "Administradores: entrar com um token de administração",
        "sign_in_token": "Entrar com o token",
        "bad_login": "O endereço ou a palavra-passe estão errados.",
        "bad_token": "Esse token não é um token de administração válido.",
        "login_throttled": "Demasiadas tentativas: espere um minuto e tente de novo.",
        "login_unavailable": "O servidor de correio não conseguiu verificar a palavra-passe: "
                             "tente mais tarde.",
        "login_insecure": "Uma palavra-passe só pode ser enviada por HTTPS.",
        "login_no_account": "Este utilizador não tem aqui uma conta de resposta automática.",
        "away_changed": "Não guardado: estas definições foram alteradas noutro lado depois "
                        "de abrir a página. Recarregue para as ver.",
        "logout": "Sair",
        "signed_in_as": "Sessão de",
        "administrator": "administrador",
        "nav_away": "Ausência",
        "nav_templates": "Modelos",
        "away_title": "Ausência",
        "away_intro": "Enquanto estiver ligada, quem lhe escrever recebe uma resposta "
                      "automática por intervalo. Listas, devoluções e robôs nunca recebem.",
        "enabled": "Enviar respostas automáticas",
        "state_on": "Ligada",
        "state_off": "Desligada",
        "status": "Estado",
        "in_force": "a responder agora",
        "not_in_force": "não está a responder agora",
        "start": "Início",
        "end": "Fim",
        "date": "Data",
        "time": "Hora",
        "start_hint": "Vazio: a partir de agora (mas com ausências ou períodos mais abaixo, "
                      "só esses respondem). Sem hora: desde o início desse dia.",
        "end_hint": "Vazio: até a desligar. Sem hora: até ao fim desse dia.",
        "zone_is": "As horas estão no seu fuso horário:",
        "subject": "Assunto",
        "subject_hint": "Vazio: o assunto do modelo, senão “Auto: ” e o assunto original.",
        "message": "A sua mensagem",
        "message_hint": "Passada ao modelo da resposta (por exemplo a quem ligar durante a "
                        "ausência).",
        "language": "Idioma da resposta",
        "language_auto": "O da mensagem recebida",
        "lang_en": "Inglês",
        "lang_pt": "Português",
        "interval": "Uma resposta por remetente a cada",
        "interval_hint": "Por exemplo 24h, 7d ou 1h30m. Vazio: o valor do servidor ({default}).",
        "save": "Guardar",
        "saved": "Guardado.",
        "not_saved": "Não guardado: veja as mensagens abaixo.",
        "preview": "Pré-visualização da resposta",
        "preview_intro": "A mensagem exata que seria enviada, gerada como na entrega. "
                         "Acompanha o que escreve; nada é guardado até carregar em Guardar.",
        "sample_sender": "Responder a (remetente de exemplo)",
        "headers": "Cabeçalhos",
        "text_part": "Parte de texto",
        "html_part": "Parte HTML",
        "html_source": "Código HTML",
        "no_html": "Esta resposta não tem parte HTML.",
        "preview_failed": "Não é possível gerar a resposta:",
        "updating": "A atualizar…",
        "history": "Respostas recentes",
        "history_intro": "Quem recebeu a sua resposta automática ultimamente. “Responder de "
                         "novo” faz com que esse remetente a receba na próxima mensagem.",
        "history_empty": "Ainda não foi enviada nenhuma resposta.",
        "when": "Quando",
        "sender": "Remetente",
        "result": "Resultado",
        "status_sent": "enviada",
        "status_rejected": "recusada pelo servidor",
        "forget": "Responder de novo",
        "forget_label": "Responder de novo a {sender}",
        "forgotten": "{sender} vai receber a resposta de novo.",
        "note_plain": "{local} {abbrev} ({offset})",
        "note_gap": "{local} {abbrev} ({offset}): a hora que escreveu não existe nesse dia "
                    "(os relógios adiantam), por isso começa quando adiantam.",
        "note_twice": "{local} {abbrev} ({offset}): esta hora acontece duas vezes nesse dia "
                      "(os relógios atrasam); conta a primeira.",
        "note_through": "até ao fim do dia: até {local} {abbrev} ({offset})",
        "time_without_date": "uma hora precisa de uma data",
        "bad_date": "não é uma data (AAAA-MM-DD)",
        "bad_time": "não é uma hora (HH:MM)",
        "bad_interval": "não é um intervalo (por exemplo 24h, 7d, 1h30m)",
        "end_before_start": "o fim tem de ser depois do início",
        "bad_sender": "não é um endereço de correio",
        "too_long": "demasiado longo",
        "error": "Erro",
        "no_account_admin": "Um token de administração não corresponde a nenhuma caixa de "
                            "correio: use a página dos modelos.",
        "templates_title": "Modelos de resposta",
        "templates_intro": "Cada modelo tem um ficheiro de texto e um ficheiro HTML opcional "
                           "por idioma. Um modelo que falha a verificação não pode ser "
                           "guardado.",
        "template": "Modelo",
        "languages": "Idiomas",
        "file": "Ficheiro",
        "check": "Verificação",
        "check_ok": "passa",
        "check_fail": "falha",
        "source": "origem",
        "bundled": "incluído (ao guardar cria a sua cópia)",
        "own": "a sua pasta de modelos",
        "edit": "Editar",
        "edit_title": "Editar {file}",
        "template_source": "Código do modelo",
        "check_result": "Verificação",
        "check_passes": "O modelo passa a verificação.",
        "check_line": "Linha {line}: {message}",
        "goto_line": "Ir para a linha {line}",
        "preview_after_check": "A pré-visualização volta quando o modelo passar a "
                               "verificação.",
        "preview_account": "Pré-visualizar para a conta",
        "preview_account_none": "Ainda não há contas: a pré-visualização usa uma conta de "
                                "exemplo.",
        "save_template": "Guardar",
        "undo": "Desfazer a última gravação",
        "undo_done": "A versão anterior de {file} foi reposta.",
        "template_saved": "{file} guardado (a versão anterior fica guardada para desfazer).",
        "check_failed": "Não guardado: o modelo falha a verificação.",
        "changed_meanwhile": "Não guardado: alguém alterou este modelo depois de o abrir. "
                             "Recarregue para ver a versão dessa pessoa.",
        "no_template_dir": "Não é possível guardar modelos: defina `templates` na "
                           "configuração com uma pasta onde este serviço possa escrever.",
        "template_dir_missing": "A pasta de modelos não existe:",
        "nothing_to_undo": "Não há versão anterior para repor.",
        "no_such_template": "Modelo inexistente:",
        "bad_file": "Não é um nome de ficheiro de modelo:",
        "back": "Voltar à lista",
        "forbidden": "Não pode ver esta página.",
        "not_found": "Não encontrado.",
        "csrf_failed": "O formulário expirou ou não veio deste sítio. Recarregue a página e "
                       "tente de novo.",
        "need_admin": "Só administradores podem editar modelos.",
        "signed_out": "Terminou a sessão.",
        "timezone": "Fuso horário",
        "timezone_hint": "Um nome IANA como Europe/Lisbon ou America/Sao_Paulo. Vazio: o do "
                         "servidor ({default}). Todas as datas e horas desta página estão "
                         "nele; ao mudá-lo, ficam como o relógio as mostra.",
        "bad_zone": "não é um fuso horário que este servidor conheça (um nome IANA como "
                    "Europe/Lisbon)",
        "audience_title": "Quem recebe que resposta",
        "internal_domains": "Domínios dos colegas",
        "internal_domains_hint": "Remetentes dos seus próprios domínios contam sempre como "
                                 "colegas; acrescente outros aqui, separados por vírgulas "
                                 "(.exemplo.pt: os seus subdomínios).",
        "bad_domain": "não é um domínio: {detail} (escreva exemplo.pt, ou .exemplo.pt para os "
                      "seus subdomínios)",
        "too_many_domains": "no máximo 100 domínios",
        "outsiders": "Remetentes de fora",
        "outsiders_reply": "recebem resposta",
        "outsiders_none": "não recebem resposta (responder só a colegas)",
        "outsider_subject": "Assunto para quem é de fora",
        "outsider_message": "Mensagem para quem é de fora",
        "outsider_hint": "Vazio: quem é de fora recebe a mesma resposta que os colegas.",
        "outsider_reply": "Uma resposta diferente para quem é de fora (opcional)",
        "template_same": "O mesmo da resposta principal",
        "reply_from": "Responder como",
        "reply_from_account": "O endereço desta conta ({address})",
        "reply_from_addressed": "O endereço para onde a mensagem foi enviada",
        "reply_from_hint": "Nunca um endereço que não seja desta conta.",
        "bad_reply_from": "não é um dos endereços desta conta",
        "group_mail": "Responder também a correio enviado para um grupo ou lista",
        "group_mail_hint": "Correio que não indica nenhum dos seus endereços (um alias de "
                           "grupo, um Bcc). Se não mexer, vale o valor do servidor ({default}).",
        "yes": "sim",
        "no": "não",
        "absences_title": "Outras ausências",
        "item_content_hint": "Cada uma com as suas datas e, se quiser, o seu assunto e "
                             "mensagem; os campos vazios ficam com os da resposta principal.",
        "absence_n": "Ausência {number}",
        "absence_new": "Acrescentar uma ausência",
        "absence_unsaved": "Nova ausência (acrescentada ao guardar)",
        "remove_absence": "Retirar a ausência {number} ao guardar",
        "windows_title": "Períodos semanais",
        "window_hint": "Quando está ausente todas as semanas, p. ex. “sex 14h - seg 8h”, "
                       "“seg a sex 12h-13h”, “sáb-dom até 2027-06-30” (em inglês também: "
                       "“Fri 14:00 - Mon 08:00”).",
        "window_n": "Período {number}",
        "window_new": "Acrescentar um período",
        "window_unsaved": "Novo período (acrescentado ao guardar)",
        "window_spec": "Quando",
        "remove_window": "Retirar o período {number} ao guardar",
        "bad_window": "não é um período semanal: {detail}",
        "window_needs_text": "indique quando (p. ex. sex 14h - seg 8h)",
        "absence_needs_start": "uma ausência precisa de uma data de início",
        "unknown_item": "não é uma das suas ausências ou períodos (recarregue a página)",
        "too_many_items": "no máximo 50 nesta lista",
        "bad_template": "esse modelo não existe",
        "api": "{detail}",
        "next_change": "próxima mudança {when}",
        "sample_sender_hint": "Um remetente de um dos seus domínios conta como colega; "
                              "qualquer outro, como alguém de fora.",
        "sample_to": "Enviada para",
        "sample_when": "Pré-visualizar a resposta",
        "sample_now": "tal como sai agora",
        "which_main": "a resposta principal",
        "situation_idle": "Em {when} nenhuma ausência ou período está em vigor, por isso "
                          "não sai resposta. Mostra-se a resposta principal: {who} e {gets}.",
        "which_absence": "a ausência {number}",
        "which_window": "o período {spec}",
        "sample_internal": "{sender} é um colega ({why})",
        "sample_external": "{sender} é de fora",
        "gets_no_reply": "não recebe resposta",
        "gets_outsider_reply": "recebe a resposta para quem é de fora",
        "gets_reply": "recebe esta resposta, de {address}",
        "situation": "Em {when}, responde {which}: {who} e {gets}.",
    },
}


def from_accept_language(header: str) -> "str | None":
    """The best of our languages in an Accept-Language value, or None."""
    best, best_q = None, 0.0
    for item in (header or "").split(",")[:32]:
        tag, _, params = item.strip().partition(";")
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def pick(cookie: "str | None", accept_language: str) -> str:
    if cookie in LANGUAGES:
        return cookie
    return from_accept_language(accept_language) or "en"


class Words:
    """The catalogue of one language, for templates: ``t("key", name=value)``."""

    def __init__(self, lang: str):
        self.lang = lang if lang in LANGUAGES else "en"
        self._m = MESSAGES[self.lang]

    def __call__(self, key: str, **kw) -> str:
        text = self._m.get(key) or MESSAGES["en"].get(key) or key
        return text.format(**kw) if kw else text

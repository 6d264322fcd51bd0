"""The demo organization a newcomer sees first (PRODUCT.md): Maple Community Services.

Its profile (phone, address, contact email, opening hours in every language), two staff
members in their own zones, three services, Monday-Friday 09:00-17:00 with a lunch
break, and one day off in the coming weeks. Loading it twice does nothing the second time.
"""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.booking.models import Organization, Staff
from services.booking.operations import catalog, faq, organization
from shared.db import utcnow

OFFICE_DIAL_IN = "+14165550100"
WEEKDAYS = range(5)
WORKING_HOURS = ((time(9), time(12)), (time(13), time(17)))  # lunch 12:00-13:00

INTAKE_RESOURCES = [
    {
        "title": "Before your intake",
        "url": None,
        "text": "Have your passport or PR card and any letters from IRCC at hand.",
    },
    {
        "title": "Joining a video call",
        "url": "https://meet.example.org/help",
        "text": "Open the link a few minutes early; no account is needed.",
    },
]


# How to join the demo's video and phone appointments, and how to get into the office.
INTAKE_JOIN = {
    "en": "Open the link 5 minutes early and test your microphone. If the video fails, we call "
    "you on the number you gave us.\nFor a phone appointment, keep your phone free: we call you.",
    "fr": "Ouvrez le lien 5 minutes en avance et testez votre micro. Si la vidéo ne fonctionne "
    "pas, nous vous appelons au numéro donné.\nPour un rendez-vous par téléphone, gardez votre "
    "téléphone libre : nous vous appelons.",
    "es": "Abra el enlace 5 minutos antes y pruebe su micrófono. Si el video falla, le llamamos "
    "al número que nos dio.\nPara una cita por teléfono, mantenga su teléfono libre: le "
    "llamamos nosotros.",
    "ar": "افتح الرابط قبل 5 دقائق وجرّب الميكروفون. إذا لم يعمل الفيديو، نتصل بك على الرقم "
    "الذي أعطيتنا إياه.\nفي موعد الهاتف، أبقِ هاتفك متاحًا: نحن نتصل بك.",
}
TAX_JOIN = {
    "en": "Have your tax slips (T4, T5) and last year's notice of assessment next to the phone.",
    "fr": "Ayez vos feuillets d'impôt (T4, T5) et votre dernier avis de cotisation près du "
    "téléphone.",
    "es": "Tenga sus comprobantes fiscales (T4, T5) y su última notificación de evaluación "
    "junto al teléfono.",
    "ar": "احتفظ بقسائم الضرائب (T4 وT5) وإشعار التقييم للسنة الماضية بجانب الهاتف.",
}
TAX_ACCESS = {
    "en": "Entrance on Elm Lane, at the side of the building; step-free, with an elevator.\n"
    "2nd floor, room 204: press buzzer 4 and we open.",
    "fr": "Entrée rue Elm Lane, sur le côté du bâtiment ; sans marches, avec ascenseur.\n"
    "2e étage, salle 204 : sonnez à l'interphone 4 et nous ouvrons.",
    "es": "Entrada por Elm Lane, al lado del edificio; sin escalones, con ascensor.\n"
    "2.º piso, sala 204: toque el timbre 4 y le abrimos.",
    "ar": "المدخل من شارع Elm Lane على جانب المبنى؛ دون درج، مع مصعد.\n"
    "الطابق الثاني، الغرفة 204: اضغط الجرس رقم 4 وسنفتح لك.",
}
WORKSHOP_JOIN = {
    "en": "Open the link 5 minutes early; your camera may stay off. Have a pen and your resume "
    "at hand.",
    "fr": "Ouvrez le lien 5 minutes en avance ; votre caméra peut rester éteinte. Ayez un stylo "
    "et votre CV sous la main.",
    "es": "Abra el enlace 5 minutos antes; puede dejar la cámara apagada. Tenga a mano un "
    "bolígrafo y su currículum.",
    "ar": "افتح الرابط قبل 5 دقائق؛ يمكنك إبقاء الكاميرا مطفأة. احتفظ بقلم وسيرتك الذاتية في "
    "متناول يدك.",
}

# The demo services in the other languages the pages speak.
INTAKE_TRANSLATIONS = {
    "fr": {
        "name": "Premier entretien d'installation",
        "description": "Un premier échange sur vos besoins d'installation : logement, travail, "
        "école, papiers.",
        "resources": [
            {
                "title": "Avant votre entretien",
                "url": None,
                "text": "Ayez sous la main votre passeport ou votre carte de RP et les lettres "
                "d'IRCC.",
            },
            {
                "title": "Rejoindre un appel vidéo",
                "url": "https://meet.example.org/help",
                "text": "Ouvrez le lien quelques minutes à l'avance ; aucun compte n'est requis.",
            },
        ],
        "join_instructions": INTAKE_JOIN["fr"],
    },
    "es": {
        "name": "Entrevista de instalación",
        "description": "Una primera conversación sobre sus necesidades de instalación: vivienda, "
        "trabajo, escuela, documentos.",
        "resources": [
            {
                "title": "Antes de su entrevista",
                "url": None,
                "text": "Tenga a mano su pasaporte o tarjeta de RP y las cartas de IRCC.",
            },
            {
                "title": "Cómo unirse a una videollamada",
                "url": "https://meet.example.org/help",
                "text": "Abra el enlace unos minutos antes; no necesita una cuenta.",
            },
        ],
        "join_instructions": INTAKE_JOIN["es"],
    },
    "ar": {
        "name": "مقابلة الاستقرار الأولى",
        "description": "محادثة أولى حول احتياجات استقرارك: السكن والعمل والمدرسة والأوراق.",
        "resources": [
            {
                "title": "قبل مقابلتك",
                "url": None,
                "text": "احتفظ بجواز سفرك أو بطاقة الإقامة الدائمة وأي رسائل من IRCC في متناول يدك.",
            },
            {
                "title": "الانضمام إلى مكالمة فيديو",
                "url": "https://meet.example.org/help",
                "text": "افتح الرابط قبل بضع دقائق؛ لا حاجة إلى حساب.",
            },
        ],
        "join_instructions": INTAKE_JOIN["ar"],
    },
}
TAX_TRANSLATIONS = {
    "fr": {
        "name": "Clinique d'impôts",
        "description": "Aide gratuite pour remplir votre déclaration de revenus.",
        "join_instructions": TAX_JOIN["fr"],
        "access_notes": TAX_ACCESS["fr"],
    },
    "es": {
        "name": "Clínica de impuestos",
        "description": "Ayuda gratuita para presentar su declaración de impuestos.",
        "join_instructions": TAX_JOIN["es"],
        "access_notes": TAX_ACCESS["es"],
    },
    "ar": {
        "name": "عيادة الضرائب",
        "description": "مساعدة مجانية في تقديم إقرارك الضريبي.",
        "join_instructions": TAX_JOIN["ar"],
        "access_notes": TAX_ACCESS["ar"],
    },
}
WORKSHOP_TRANSLATIONS = {
    "fr": {
        "name": "Atelier de recherche d'emploi",
        "description": "Un atelier de groupe sur les CV et les entrevues au Canada.",
        "join_instructions": WORKSHOP_JOIN["fr"],
    },
    "es": {
        "name": "Taller de búsqueda de empleo",
        "description": "Un taller en grupo sobre currículums y entrevistas en Canadá.",
        "join_instructions": WORKSHOP_JOIN["es"],
    },
    "ar": {
        "name": "ورشة البحث عن عمل",
        "description": "ورشة جماعية حول السير الذاتية والمقابلات في كندا.",
        "join_instructions": WORKSHOP_JOIN["ar"],
    },
}


PROFILE = {
    "name": "Maple Community Services",
    "phone": "+14165550123",
    "email": "hello@maple.example",
    "address": "120 Maple Street, Toronto ON M5V 2T6",
    "hours": {
        "en": "Monday to Friday, 9:00 to 17:00 (closed 12:00 to 13:00)",
        "fr": "Du lundi au vendredi, de 9 h à 17 h (fermé de 12 h à 13 h)",
        "es": "De lunes a viernes, de 9:00 a 17:00 (cerrado de 12:00 a 13:00)",
        "ar": "من الاثنين إلى الجمعة، من 9:00 إلى 17:00 (مغلق من 12:00 إلى 13:00)",
    },
    "reply_to": "frontdesk@maple.example",
    "default_language": "en",
}


def _day_off(today: date) -> date:
    """A Wednesday two to three weeks ahead: inside the horizon, never today."""
    day = today + timedelta(days=14)
    return day + timedelta(days=(2 - day.weekday()) % 7)


def load_demo(*, session: Session, consent_template_ids: dict[str, int]) -> dict[str, Any]:
    """Create the demo organization unless staff exist; return what was created ({} if nothing).

    Every id in `consent_template_ids` (form name -> consent template id) is required by the
    Settlement intake.
    """
    if session.scalar(sa.select(sa.func.count()).select_from(Staff)):
        return {}
    if session.get(Organization, organization.ROW_ID) is None:  # an admin's own profile stays
        organization.save_profile(
            session=session,
            defaults=organization.Defaults(PROFILE["name"], PROFILE["reply_to"], public_url=""),
            fields=PROFILE,
        )
    amira = catalog.create_staff(
        session=session,
        name="Amira Haddad",
        email="amira@maple.example",
        time_zone="America/Toronto",
        languages=["en", "ar", "fr"],
        video_link_template="https://meet.example.org/maple-amira",
        dial_in=OFFICE_DIAL_IN,
    )
    diego = catalog.create_staff(
        session=session,
        name="Diego Ramírez",
        email="diego@maple.example",
        time_zone="America/Vancouver",
        languages=["en", "es"],
        video_link_template="https://meet.example.org/maple-diego",
    )
    # The office manager runs the console's setup; with no services nobody can book her.
    office = catalog.create_staff(
        session=session,
        name="Grace Okafor",
        email="office@maple.example",
        time_zone="America/Toronto",
        languages=["en", "fr"],
        role="admin",
    )
    rules = [
        {"weekday": weekday, "start_time": start, "end_time": end}
        for weekday in WEEKDAYS
        for start, end in WORKING_HOURS
    ]
    for staff in (amira, diego):
        catalog.replace_rules(session=session, staff=staff, rules=rules)
    day_off = _day_off(utcnow().date())
    catalog.add_exception(
        session=session, staff=amira, date=day_off, kind="off", note="Training day"
    )
    intake = catalog.create_service(
        session=session,
        staff_ids=[amira.id, diego.id],
        name="Settlement intake",
        slug="settlement-intake",
        description="A first conversation about your settlement needs: housing, work, school, papers.",
        duration_minutes=45,
        modes=["video", "phone"],
        buffer_after_minutes=10,
        min_notice_minutes=120,
        horizon_days=60,
        resources=INTAKE_RESOURCES,
        join_instructions=INTAKE_JOIN["en"],
        translations=INTAKE_TRANSLATIONS,
        required_consent_template_ids=sorted(set(consent_template_ids.values())),
    )
    tax = catalog.create_service(
        session=session,
        staff_ids=[diego.id],
        name="Tax clinic",
        slug="tax-clinic",
        description="Free help filing your income tax return.",
        duration_minutes=30,
        modes=["in_person", "phone"],
        location="Maple Community Services, 120 Maple Street, Toronto",
        slot_step_minutes=30,
        join_instructions=TAX_JOIN["en"],
        access_notes=TAX_ACCESS["en"],
        translations=TAX_TRANSLATIONS,
    )
    workshop = catalog.create_service(
        session=session,
        staff_ids=[amira.id],
        name="Job search workshop",
        slug="job-search-workshop",
        description="A group workshop on Canadian resumes and interviews.",
        duration_minutes=90,
        modes=["video"],
        capacity=8,
        slot_step_minutes=90,
        join_instructions=WORKSHOP_JOIN["en"],
        translations=WORKSHOP_TRANSLATIONS,
    )
    for language, question, answer in DEMO_FAQ:
        faq.create_entry(session=session, language=language, question=question, answer=answer)
    session.flush()
    return {
        "staff": {"amira": amira.id, "diego": diego.id, "office": office.id},
        "services": {s.slug: s.id for s in (intake, tax, workshop)},
        "day_off": day_off.isoformat(),
    }


# The help center's questions and answers, in each language the pages speak.
DEMO_FAQ = [
    (
        "en",
        "What should I bring to my settlement intake?",
        "Your passport or PR card, and any letters from IRCC. If you do not have them yet, "
        "come anyway: we will help you get them.",
    ),
    (
        "en",
        "How do I cancel or change my appointment?",
        "Open the link in your confirmation email and choose Cancel or Change the time. "
        "No account or password is needed.",
    ),
    (
        "en",
        "Can I have an interpreter?",
        "Yes, free of charge. Choose the language when you book and we will arrange it.",
    ),
    (
        "fr",
        "Que dois-je apporter à mon accueil en établissement ?",
        "Votre passeport ou votre carte de RP, et les lettres d'IRCC. Si vous ne les avez pas "
        "encore, venez quand même : nous vous aiderons à les obtenir.",
    ),
    (
        "fr",
        "Comment annuler ou déplacer mon rendez-vous ?",
        "Ouvrez le lien de votre courriel de confirmation et choisissez Annuler ou Changer "
        "l'heure. Aucun compte ni mot de passe n'est nécessaire.",
    ),
    (
        "fr",
        "Puis-je avoir un interprète ?",
        "Oui, gratuitement. Indiquez la langue lors de la réservation et nous l'organiserons.",
    ),
    (
        "es",
        "¿Qué debo traer a mi cita de acogida?",
        "Su pasaporte o tarjeta de residente permanente y las cartas de IRCC. Si todavía no "
        "los tiene, venga igualmente: le ayudaremos a conseguirlos.",
    ),
    (
        "es",
        "¿Cómo cancelo o cambio mi cita?",
        "Abra el enlace de su correo de confirmación y elija Cancelar o Cambiar la hora. "
        "No necesita cuenta ni contraseña.",
    ),
    (
        "es",
        "¿Puedo tener un intérprete?",
        "Sí, sin costo. Elija el idioma al reservar y lo organizaremos.",
    ),
    (
        "ar",
        "ماذا أحضر معي إلى موعد الاستقبال؟",
        "جواز السفر أو بطاقة الإقامة الدائمة، وأي رسائل من دائرة الهجرة. إن لم تكن لديك بعد، "
        "تعال على أي حال: سنساعدك في الحصول عليها.",
    ),
    (
        "ar",
        "كيف ألغي موعدي أو أغيّره؟",
        "افتح الرابط في رسالة التأكيد واختر إلغاء أو تغيير الوقت. لا تحتاج إلى حساب أو كلمة مرور.",
    ),
    (
        "ar",
        "هل يمكنني الحصول على مترجم؟",
        "نعم، مجانًا. اختر اللغة عند الحجز وسنرتّب ذلك.",
    ),
]

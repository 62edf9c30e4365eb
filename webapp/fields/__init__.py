"""Field declarations: each field of a record described once (see :mod:`webapp.fields.base`).

Below the services and above the models: nothing here imports a blueprint or a service.

Adding a student field: add its column to the model (and a migration), then declare it
in :mod:`webapp.fields.student` (label, kind, parser, rules and messages, what a blank
means, help texts). The form, the import, the export, the audit trail and the pages
pick it up; the headers other files give it go into the import's alias table
(:data:`webapp.spreadsheets.mapping.ALIASES`). A field of a new kind (a choice such as
an enrollment status, a phone number) needs a :class:`~webapp.fields.base.Kind`, a
parser (for phone numbers, the ``phonenumbers`` library's) and, in
:mod:`webapp.fields.formfield`, its input. A new kind of record (a guardian) gets its
own :class:`~webapp.fields.records.RecordFields`. Plausibility checks that a person may
confirm (an unusual birthday) are a field's ``warnings``, never its ``rules``; one that
reads several fields (the age on the enrollment date) is a
:class:`~webapp.fields.records.RecordWarning` of the record, about the field it is shown
with. The form asks to confirm them, the import shows them, and only
values being entered or changed are judged.
"""

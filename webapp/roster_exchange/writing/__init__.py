"""Writing an import's plan: the records, in bulk where they are new, and their audit events.

Used by :func:`webapp.roster_exchange.importing.apply_plan`, inside its transaction;
nothing here commits. New students, enrollments, guardians, their numbers and links go in
as multi-row inserts; records that exist are updated through the ORM (optimistic locking
applies). Every record changed gets the audit event the pages would write, collected and
inserted in batches.

* :mod:`.events`: the audit events (:class:`~.events.Events`) and the bulk insert shared
  by the writers;
* :mod:`.structure`: the school's structure: school years, teacher accounts, homerooms;
* :mod:`.people`: students, their enrollments, guardians and their links.
"""

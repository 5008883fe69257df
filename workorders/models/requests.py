"""Service requests and their catalogue: services, attributes, API keys, requests, notes, followers, links."""

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.functions import Now

from gis.models import Asset, AssetType, Department, District, NetworkKind, Timestamped
from gis.spatial import valid_nonempty_geometry

STORAGE_SRID = settings.FIELDSVC_STORAGE_SRID


class ServiceGroup(models.Model):
    """A catalogue heading ("Street Infrastructure"), Open311's ``group``."""

    code = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=200)
    i18n = models.JSONField(default=dict, blank=True, help_text='{"es": "Infraestructura vial", …}')

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ServiceType(models.TextChoices):
    REALTIME = "realtime", "Realtime (id returned at once)"
    BATCH = "batch", "Batch (a token, the id later)"
    BLACKBOX = "blackbox", "Blackbox (no id ever returned)"


class WorkOrderMode(models.TextChoices):
    AUTO = "auto", "Created ready for dispatch"
    TRIAGE = "triage", "Created new, for a dispatcher to triage"
    NONE = "none", "No work order"


class Service(Timestamped):
    """What a resident can report or ask about (Open311 service), who owns it and how fast."""

    code = models.SlugField(max_length=80, unique=True, help_text="Open311 service_code")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    group = models.ForeignKey(ServiceGroup, on_delete=models.PROTECT, null=True, blank=True,
                              related_name="services")
    keywords = models.JSONField(default=list, blank=True, help_text="synonyms residents type")
    service_type = models.CharField(max_length=10, choices=ServiceType.choices, default=ServiceType.REALTIME)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="services")
    asset_types = models.ManyToManyField(AssetType, blank=True, related_name="services",
                                         help_text="the city assets a report of this kind can be about")
    snap_distance_m = models.FloatField(default=0, help_text="how far from the report to look for the asset")
    sla_hours = models.FloatField(null=True, blank=True, help_text="target hours from report to close")
    informational = models.BooleanField(default=False, help_text="an inquiry: logged, never dispatched")
    work_order_mode = models.CharField(max_length=8, choices=WorkOrderMode.choices, default=WorkOrderMode.AUTO,
                                       help_text="what a routed request of this kind becomes")
    auto_dispatch = models.BooleanField(default=False, help_text="ready work goes to the best crew on shift "
                                        "without waiting for a dispatcher")
    close_on_complete = models.BooleanField(default=True, help_text="completed work closes the requests at once; "
                                            "otherwise they close when a supervisor verifies it")
    task_minutes = models.PositiveIntegerField(default=30, help_text="typical time on site")
    task_skills = ArrayField(models.SlugField(max_length=60), default=list, blank=True,
                             help_text="skills a crew needs for it")
    notice = models.TextField(blank=True, help_text="Open311 service_notice, told to the reporter")
    related = models.ManyToManyField("self", blank=True, help_text="a duplicate may be filed under these")
    active = models.BooleanField(default=True)
    source_topics = models.JSONField(default=list, blank=True,
                                     help_text="case types of an earlier system this service stands for")
    i18n = models.JSONField(default=dict, blank=True,
                            help_text='{"es": {"name": …, "description": …, "keywords": […], "notice": …}}')

    class Meta:
        ordering = ["group__name", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(snap_distance_m__gte=0), name="service_snap_distance_m_gte_0"),
            models.CheckConstraint(condition=Q(sla_hours__gte=0), name="service_sla_hours_gte_0"),
        ]

    def __str__(self) -> str:
        return self.name


class AttributeDatatype(models.TextChoices):
    STRING = "string"
    NUMBER = "number"
    DATETIME = "datetime"
    TEXT = "text"
    SINGLEVALUELIST = "singlevaluelist"
    MULTIVALUELIST = "multivaluelist"


class ServiceAttribute(models.Model):
    """One question of a service definition (Open311 attribute)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="attributes")
    code = models.CharField(max_length=60)
    variable = models.BooleanField(default=True, help_text="false: information only, no answer")
    datatype = models.CharField(max_length=20, choices=AttributeDatatype.choices)
    required = models.BooleanField(default=False)
    order = models.PositiveSmallIntegerField()
    description = models.TextField(help_text="the question or instructions")
    datatype_description = models.CharField(max_length=300, blank=True)
    values = models.JSONField(default=list, blank=True, help_text='list types: [{"key": …, "name": …}]')
    i18n = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["service", "order"]
        constraints = [
            models.UniqueConstraint(fields=["service", "code"], name="service_attribute_code_uniq"),
            # Deferred: reordering questions swaps orders inside one transaction.
            models.UniqueConstraint(fields=["service", "order"], name="service_attribute_order_uniq",
                                    deferrable=models.Deferrable.DEFERRED),
            models.CheckConstraint(condition=Q(order__gte=1), name="service_attribute_order_gte_1"),
        ]

    def __str__(self) -> str:
        return f"{self.service.code}:{self.code}"


class ApiKey(models.Model):
    """A client allowed to POST (Open311 api_key). Only a hash of the key is kept."""

    name = models.CharField(max_length=200, help_text="who holds it: an app, a partner, a city site")
    prefix = models.CharField(max_length=8, help_text="first characters, to recognise a key")
    key_sha256 = models.CharField(max_length=64, unique=True)
    active = models.BooleanField(default=True)
    rate_per_minute = models.PositiveIntegerField(null=True, blank=True, help_text="blank: the default rate")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RequestStatus(models.TextChoices):
    OPEN = "open"
    CLOSED = "closed"


class DetailedStatus(models.TextChoices):
    """The fine state (Open311 keeps open/closed; this rides in extended_attributes)."""

    RECEIVED = "received", "Received"
    OPEN = "open", "Open"
    FOR_TRIAGE = "for_triage", "For triage"
    INVESTIGATING = "investigating", "Investigating"
    IN_PROGRESS = "in_progress", "In progress"
    PLANNED = "planned", "Planned"
    ACTION_SCHEDULED = "action_scheduled", "Action scheduled"
    INTERNAL_REFERRAL = "internal_referral", "Referred to another department"
    REOPENED = "reopened", "Reopened"
    CLOSED = "closed", "Closed"
    FIXED = "fixed", "Fixed"
    DUPLICATE = "duplicate", "Duplicate"
    NOT_RESPONSIBLE = "not_councils_responsibility", "Not the city's responsibility"
    NO_FURTHER_ACTION = "no_further_action", "No further action"
    NOTED = "noted", "Noted (information given)"
    CANCELLED = "cancelled", "Cancelled"


CLOSED_DETAILED = frozenset({
    DetailedStatus.CLOSED, DetailedStatus.FIXED, DetailedStatus.DUPLICATE, DetailedStatus.NOT_RESPONSIBLE,
    DetailedStatus.NO_FURTHER_ACTION, DetailedStatus.NOTED, DetailedStatus.CANCELLED,
})


class Channel(models.TextChoices):
    WEB = "web"
    APP = "app"
    PHONE = "phone"
    WALK_IN = "walk_in", "Walk-in"
    SOCIAL = "social"
    EMAIL = "email"
    EMPLOYEE = "employee", "City employee"
    OPEN311 = "open311", "Open311 client"


class ServiceRequest(Timestamped):
    """A resident's report or inquiry (Open311 service request)."""

    # Indexed by request_service_status_idx (service first). Every index here is paid on each intake:
    # uniques are Meta constraints (no extra varchar_pattern_ops twin) and partial where mostly NULL.
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="requests", db_index=False)
    reference = models.CharField(max_length=30, help_text="short public number")
    status = models.CharField(max_length=6, choices=RequestStatus.choices, default=RequestStatus.OPEN)
    detailed_status = models.CharField(max_length=30, choices=DetailedStatus.choices,
                                       default=DetailedStatus.RECEIVED)
    status_notes = models.TextField(blank=True)
    description = models.TextField(blank=True)
    geom = models.PointField(srid=STORAGE_SRID, null=True, blank=True)
    address_string = models.CharField(max_length=500, blank=True)
    address_id = models.CharField(max_length=120, blank=True)
    zipcode = models.CharField(max_length=12, blank=True)
    requested_at = models.DateTimeField(db_default=Now())
    expected_at = models.DateTimeField(null=True, blank=True, help_text="SLA target")
    closed_at = models.DateTimeField(null=True, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="requests",
                                   help_text="agency responsible")
    district = models.ForeignKey(District, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="requests")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.OPEN311)
    attributes = models.JSONField(default=dict, blank=True, help_text="answers: {code: value | [values]}")
    media_urls = models.JSONField(default=list, blank=True)
    duplicate_of = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="duplicates", db_index=False)
    # Who reported it: never on public GETs.
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    device_id = models.CharField(max_length=200, blank=True)
    account_id = models.CharField(max_length=200, blank=True)
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests")
    # A client's retry carries the same key: the first request is returned, no second one made.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # Without a key, a device's identical report within FIELDSVC_OPEN311_RETRY_WINDOW_S is a retry.
    payload_sha256 = models.CharField(max_length=64, blank=True)
    token = models.UUIDField(null=True, blank=True, help_text="batch services: for GET /tokens")
    external_id = models.CharField(max_length=60, null=True, blank=True,
                                   help_text="id in the system it came from (replayed history)")
    work_order = models.ForeignKey("workorders.WorkOrder", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="requests")

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [
            # GET /requests: newest first, filtered by date window (RQ-01, RQ-07, RQ-11).
            models.Index(fields=["-requested_at", "-id"], name="request_requested_idx"),
            models.Index(fields=["updated_at"], name="request_updated_idx"),
            models.Index(fields=["service", "status", "-requested_at"], name="request_service_status_idx"),
            models.Index(fields=["device_id", "payload_sha256"], name="request_device_payload_idx",
                         condition=~Q(payload_sha256="")),
            # GET /requests?q=: the same expression as selectors.TEXT_VECTOR, so the planner can use it.
            GinIndex(SearchVector("description", "address_string", config="simple"), name="request_text_idx"),
            models.Index(fields=["duplicate_of"], name="request_duplicate_of_idx",
                         condition=Q(duplicate_of__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["reference"], name="request_reference_uniq"),
            models.UniqueConstraint(fields=["token"], name="request_token_uniq", condition=Q(token__isnull=False)),
            models.UniqueConstraint(fields=["external_id"], name="request_external_id_uniq",
                                    condition=Q(external_id__isnull=False)),
            models.UniqueConstraint(fields=["api_key", "idempotency_key"], name="request_idempotency_uniq",
                                    condition=Q(idempotency_key__isnull=False)),
            models.CheckConstraint(condition=Q(geom__isnull=True) | valid_nonempty_geometry("geom"),
                                   name="request_geom_valid"),
            models.CheckConstraint(
                condition=Q(status=RequestStatus.OPEN, closed_at__isnull=True)
                | Q(status=RequestStatus.CLOSED, closed_at__isnull=False),
                name="request_closed_at_iff_closed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.service.name}"


class NoteKind(models.TextChoices):
    SUBMITTED = "submitted"
    OPENED = "opened"
    CLOSED = "closed"
    REOPENED = "reopened"
    ACTIVITY = "activity"
    DUPLICATE = "duplicate"


class RequestNote(models.Model):
    """One step of a request's history (Open311 extension notes[]; mySociety servicerequestupdates)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="notes")
    created_at = models.DateTimeField(db_default=Now())
    kind = models.CharField(max_length=12, choices=NoteKind.choices)
    status = models.CharField(max_length=6, choices=RequestStatus.choices)
    detailed_status = models.CharField(max_length=30, choices=DetailedStatus.choices)
    description = models.TextField(blank=True)
    media_urls = models.JSONField(default=list, blank=True)
    author = models.CharField(max_length=200, blank=True, help_text="staff, crew or client; not public")
    api_key = models.ForeignKey(ApiKey, on_delete=models.SET_NULL, null=True, blank=True)
    # The client's own id for an update it posted (mySociety update_id): a resend is recognised.
    external_update_id = models.CharField(max_length=120, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_at"], name="request_note_created_idx")]
        constraints = [
            models.UniqueConstraint(fields=["api_key", "external_update_id"], name="request_note_update_id_uniq",
                                    condition=Q(external_update_id__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"


class Follower(models.Model):
    """Someone told of status changes: the reporter, the reporters of duplicates, subscribers."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="followers")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    locale = models.CharField(max_length=10, default="en")
    via = models.CharField(max_length=12, default="reporter", help_text="reporter, duplicate or subscriber")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["request", "email"], name="follower_email_uniq",
                                    condition=~Q(email="")),
            models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""), name="follower_has_contact"),
        ]


class NotificationStatus(models.TextChoices):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker, committed before the message goes out
    SENT = "sent"
    FAILED = "failed"


class Notification(models.Model):
    """One message to one follower (an outbox row: written with the status change, sent by a worker)."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="notifications")
    follower = models.ForeignKey(Follower, on_delete=models.CASCADE, related_name="notifications")
    note = models.ForeignKey(RequestNote, on_delete=models.CASCADE, null=True, blank=True)
    channel = models.CharField(max_length=5, choices=[("email", "Email"), ("sms", "SMS")])
    subject = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=NotificationStatus.choices, default=NotificationStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)  # when a worker last set it 'sending'

    class Meta:
        # The sweeper's question: rows still waiting, or claimed by a worker that died mid-send.
        indexes = [models.Index(fields=["status", "created_at"], name="notification_unsent_idx",
                                condition=Q(status__in=["pending", "sending"]))]


class Survey(models.Model):
    """After closure: was it fixed, how satisfied (1-5)? 'Not fixed' reopens the request."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="surveys")
    token = models.CharField(max_length=43, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    fixed = models.BooleanField(null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(satisfaction__isnull=True) | Q(satisfaction__range=(1, 5)),
                                   name="survey_satisfaction_1_5"),
        ]


class RequestMedia(models.Model):
    """A photo uploaded with a request (Open311 v2.1 'media'), served back as its media_url."""

    request = models.ForeignKey(ServiceRequest, on_delete=models.CASCADE, related_name="media")
    file = models.FileField(upload_to="requests/%Y/%m/")
    content_type = models.CharField(max_length=40)
    size_bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)


# --- Linking and routing (issue #4): which asset a report is about, what lies beneath, who owns it ---

class RoutingRule(Timestamped):
    """One line of the ordered routing table: when every condition given holds, the outcome applies.

    Rules are tried in ``order``; the first that matches decides (workorders/routing.py). A condition
    left empty matches anything. No rule matching leaves the report with its service's department."""

    order = models.PositiveIntegerField(help_text="tried from the lowest up; the first match wins")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    # Conditions
    services = models.ManyToManyField(Service, blank=True, related_name="routing_rules",
                                      help_text="reported as one of these services")
    asset_types = models.ManyToManyField(AssetType, blank=True, related_name="routing_rules",
                                         help_text="the linked asset is one of these types")
    utility_kinds = ArrayField(models.CharField(max_length=10, choices=NetworkKind.choices), blank=True,
                               default=list, help_text="a utility of one of these kinds lies beneath")
    utility_types = ArrayField(models.CharField(max_length=30), blank=True, default=list,
                               help_text="…of one of these types (main, lateral, manhole, catch_basin, valve…)")
    utility_within_m = models.FloatField(null=True, blank=True,
                                         help_text="…at most this many metres from the report")
    utility_max_depth_m = models.FloatField(null=True, blank=True, help_text="…at most this deep (metres)")
    utility_min_age_years = models.PositiveSmallIntegerField(null=True, blank=True,
                                                             help_text="…at least this old (years)")
    words = ArrayField(models.CharField(max_length=100), blank=True, default=list,
                       help_text="the description mentions one of these words or phrases (comma-separated)")
    districts = models.ManyToManyField(District, blank=True, related_name="routing_rules",
                                       help_text="the report lies in one of these areas")
    hour_from = models.PositiveSmallIntegerField(null=True, blank=True, help_text="reported at or after (0-23)")
    hour_to = models.PositiveSmallIntegerField(null=True, blank=True, help_text="reported before (1-24)")
    weekdays = ArrayField(models.PositiveSmallIntegerField(), blank=True, default=list,
                          help_text="ISO weekdays, 1 = Monday … 7 = Sunday")
    # Outcome
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="routing_rules", help_text="route to; blank: keep the service's")
    reclassify_to = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", help_text="file the report under this service instead")
    priority_bump = models.PositiveSmallIntegerField(default=0, help_text="raise the priority by this many steps")
    note = models.TextField(blank=True, help_text="why the rule exists")

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(hour_from__lte=23), name="routing_rule_hour_from_0_23"),
            models.CheckConstraint(condition=Q(hour_to__gte=1, hour_to__lte=24), name="routing_rule_hour_to_1_24"),
            models.CheckConstraint(condition=Q(utility_within_m__gte=0), name="routing_rule_within_m_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    def clean(self):
        errors = {}
        if self.weekdays and not all(1 <= d <= 7 for d in self.weekdays):
            errors["weekdays"] = "ISO weekdays are 1 (Monday) to 7 (Sunday)"
        if any(not w.strip() for w in self.words):
            errors["words"] = "an empty word would match every description"
        if self.hour_from is not None and self.hour_to is not None and self.hour_from == self.hour_to % 24:
            errors["hour_to"] = "the hours give an empty window"
        if not (self.department_id or self.reclassify_to_id or self.priority_bump):
            errors["department"] = "a rule must route, reclassify or raise the priority"
        if errors:
            raise ValidationError(errors)


class LinkState(models.TextChoices):
    PENDING = "pending", "Waiting to be linked"
    LINKED = "linked", "Linked and routed"


class AssetOutcome(models.TextChoices):
    MATCHED = "matched", "Nearest asset within the snap distance"
    NAMED = "named", "The asset the reporter named"
    NAMED_FAR = "named_far", "Named asset too far away (flagged)"
    NAMED_UNKNOWN = "named_unknown", "Named asset unknown (flagged)"
    NONE_WITHIN = "none_within", "No asset within the snap distance"
    NOT_APPLICABLE = "not_applicable", "No location, or the service takes no assets"


class Priority(models.IntegerChoices):
    URGENT = 1
    HIGH = 2
    NORMAL = 3
    LOW = 4


class RequestLink(models.Model):
    """What linking found for one request and where routing sent it, with the reason in words.

    Written pending in the intake transaction (so a lost task is found by the sweeper), completed by
    the linking task. A narrow table of its own: re-linking rewrites these rows, not the request's."""

    request = models.OneToOneField(ServiceRequest, on_delete=models.CASCADE, primary_key=True, related_name="link")
    state = models.CharField(max_length=8, choices=LinkState.choices, default=LinkState.PENDING)
    asset_claim = models.CharField(max_length=120, blank=True,
                                   help_text="the asset id the reporter named (attribute[asset_id], service_object_id)")
    # The references below are kept by Django (on_delete), not by database constraints: a row is derived
    # data, rewritten by every re-link, and a constraint check per changed key (with a FOR KEY SHARE lock
    # on the asset row) was most of the database's work in a batch re-link.
    asset = models.ForeignKey(Asset, on_delete=models.SET_NULL, null=True, blank=True, related_name="request_links",
                              db_index=False, db_constraint=False)
    asset_distance_m = models.FloatField(null=True, blank=True)
    asset_outcome = models.CharField(max_length=16, choices=AssetOutcome.choices, blank=True)
    search_radius_m = models.FloatField(null=True, blank=True, help_text="how far the asset was looked for")
    utilities = models.JSONField(default=list, blank=True,
                                 help_text="utility lines and structures beneath, nearest first")
    # Not indexed: every index here is rewritten by each batch re-link, and these are only looked up
    # when a department, rule or service is deleted (rare; a scan then is fine).
    department = models.ForeignKey(Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                   db_index=False, db_constraint=False)
    rule = models.ForeignKey(RoutingRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="links",
                             db_index=False, db_constraint=False)
    reclassified_from = models.ForeignKey(Service, on_delete=models.PROTECT, null=True, blank=True, db_index=False,
                                          db_constraint=False, related_name="+",
                                          help_text="the service it was reported as")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    explanation = models.TextField(blank=True)
    linked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # The sweeper's queue: only pending rows are in it.
            models.Index(fields=["request"], name="request_link_pending_idx", condition=Q(state="pending")),
            # Re-linking when an asset moves: the requests linked to it.
            models.Index(fields=["asset"], name="request_link_asset_idx", condition=Q(asset__isnull=False)),
        ]

    @property
    def flagged(self) -> bool:
        return self.asset_outcome in (AssetOutcome.NAMED_FAR, AssetOutcome.NAMED_UNKNOWN)

"""The workorders app's models: requests and their catalogue (requests.py), work orders (work.py),
crews (crews.py), day plans (plans.py), service levels (sla.py), staff roles (staff.py) and what crews'
tablets send and fetch (field.py)."""

from workorders.models.crews import *  # noqa: F403
from workorders.models.field import *  # noqa: F403
from workorders.models.plans import *  # noqa: F403
from workorders.models.requests import *  # noqa: F403
from workorders.models.sla import *  # noqa: F403
from workorders.models.staff import *  # noqa: F403
from workorders.models.work import *  # noqa: F403

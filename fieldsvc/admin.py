"""Admin adjustments for apps the project does not own: crews' tablet tokens are listed without their keys."""

from django.contrib import admin
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy


class TokenWithoutKeyAdmin(TokenAdmin):
    """A token is a password that does not expire: nobody needs to read another's, an admin included. Deleting
    one signs that tablet out; a new one comes from signing in (POST /api/field/token)."""

    list_display = ("user", "created")
    fields = ("user",)


admin.site.unregister(TokenProxy)
admin.site.register(TokenProxy, TokenWithoutKeyAdmin)

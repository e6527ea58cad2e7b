from django import forms

from accounts.roles import ALL_ROLES


class DevLoginForm(forms.Form):
    display_name = forms.CharField(label="Name", max_length=100)
    department = forms.CharField(label="Department", max_length=100, required=False)
    role = forms.ChoiceField(label="Role", choices=[(r, r) for r in ALL_ROLES])

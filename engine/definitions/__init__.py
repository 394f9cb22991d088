"""Process definitions: safe XML, deploy and versions, the item catalogue."""
